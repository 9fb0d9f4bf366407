"""Evidence packages: BagIt bags of a clip that verify offline (README, "Evidence and proof")."""
