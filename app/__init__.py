"""guichet: appointment booking and waiting queue for the Paris mairies' facilitation numérique."""
