"""Write the data directory kept in `release-0002.tar.gz`, with a server of that release.

Run once, with the code of the release whose data directory the upgrade
test keeps (schema revision 0002), from the repository root:

    .venv/bin/python tests/functional/releases/make_release_data.py OUT_DIR

It starts `dolium serve` on OUT_DIR/data, writes the objects listed in
`release_objects.py`, stops the server and packs OUT_DIR/release-0002.tar.gz.
Every byte written is derived from `release_objects.content`, so the test
needs no copy of the data beside the archive.
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parents[1]), str(Path(__file__).parent)]

from conftest import OTHER_KEY, OTHER_SECRET, client, running  # noqa: E402
from release_objects import BLOCK_SIZE, PENDING, content, write_all  # noqa: E402


def main(out: Path) -> None:
    data = out / "data"
    with running(data, {"DOLIUM_BLOCK_SIZE": str(BLOCK_SIZE)}) as live:
        live.admin("tenant", "create", "other", "--display-name", "Other")
        live.admin(
            "user", "create", "other:alice", "--access-key", OTHER_KEY, "--secret-key", OTHER_SECRET
        )
        s3 = client(live)
        write_all(s3, client(live, OTHER_KEY, OTHER_SECRET))
        pending = s3.create_multipart_upload(Bucket=PENDING[0], Key=PENDING[1])
        s3.upload_part(
            Bucket=PENDING[0],
            Key=PENDING[1],
            UploadId=pending["UploadId"],
            PartNumber=1,
            Body=content(PENDING[1], 1, 3000),
        )
        (out / "pending-upload-id").write_text(pending["UploadId"])
    with tarfile.open(out / "release-0002.tar.gz", "w:gz", compresslevel=9) as tar:
        tar.add(data, arcname="data")
        tar.add(out / "pending-upload-id", arcname="pending-upload-id")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
