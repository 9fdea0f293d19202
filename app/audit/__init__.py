"""The audit log: what staff changed, who, when and from where."""
