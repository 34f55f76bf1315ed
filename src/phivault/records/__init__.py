"""People (patients/clients and caregivers), their typed records and documents."""
