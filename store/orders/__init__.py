"""Orders and their lines. The checkout milestone adds the services and pages."""
