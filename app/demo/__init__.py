"""The demo archive shipped with the project (see README.md here)."""

from pathlib import Path

DEMO_CSV = Path(__file__).with_name("protest-archive-2019.csv")
DEMO_SOURCE = 'Amnesty International, "A web of impunity" (2020), with The Hertie School and IODA'
