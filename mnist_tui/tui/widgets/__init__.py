"""One small module per dashboard panel."""
