"""Back office forms, one module per section: they check shape; services check rules."""
