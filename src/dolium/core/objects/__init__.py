"""Objects and their versions: write, read, copy, delete, multipart, listing, tags, locks."""
