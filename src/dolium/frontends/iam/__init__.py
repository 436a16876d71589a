"""The IAM API's user calls (the subset Ceph RGW serves), over the S3 endpoint."""
