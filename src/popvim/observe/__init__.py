"""Operations: metrics definitions that every layer records into (imports nothing of popvim)."""
