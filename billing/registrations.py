"""What billing plugs into the core: the payment methods book, its settings."""
