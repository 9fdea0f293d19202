"""Administration: each manager runs their mairies, administrators run them all."""
