"""Small domain-free helpers."""
