"""Swift's headers and listing formats, both ways."""
