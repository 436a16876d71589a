"""S3 wire formats: requests and responses, headers, XML, form data."""
