"""Video evidence archive and verification tracker."""
