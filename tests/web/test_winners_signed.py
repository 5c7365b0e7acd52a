"""The winners page and its JSON twin tell verifiers what to expect: the digest and the key."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import Engine

from oyren.batch.signing import generate_key, load_signer
from oyren.rules.campaign import Campaign
from oyren.store import award
from oyren.store.db import transaction


def test_winners_show_the_digest_to_expect_and_the_signing_key(
    sandbox_db: Engine, sandbox: Campaign, client: httpx.Client, tmp_path: Path
) -> None:
    public = generate_key(tmp_path / "organizer.pem")
    signer = load_signer(tmp_path / "organizer.pem")
    with transaction(sandbox_db) as session:
        frozen = award(session, campaign_id=sandbox.id, by="olga",
                       at=sandbox.cutoff_ts + 3600, signer=signer)  # fmt: skip
    assert frozen.award is not None
    base = f"/campaigns/{sandbox.id}"
    data = client.get(base + "/winners.json").json()
    assert data["bundle_digest"] == frozen.award.bundle_digest
    assert (data["award"]["signed_by"], data["award"]["public_key"]) == (
        public.key_id,
        public.text,
    )
    assert [k["public_key"] for k in data["signing_keys"]] == [public.text]
    text = client.get(base + "/winners?lang=en").text
    command = f"--expect {frozen.award.bundle_digest} --key {public.text}"
    assert command in text
    assert f"s key {public.key_id} (Ed25519 public key):" in text
    # The bundle offered for download is the one the page says to expect.
    import io
    import zipfile

    import orjson

    from oyren.batch.bundle import manifest_digest

    archive = zipfile.ZipFile(io.BytesIO(client.get(base + "/bundle.zip").content))
    name = next(n for n in archive.namelist() if n.endswith("manifest.json"))
    manifest = orjson.loads(archive.read(name))
    assert manifest_digest(manifest) == frozen.award.bundle_digest
    signature = orjson.loads(archive.read(name.replace("manifest.json", "signature.json")))
    assert signature["bundle_digest"] == frozen.award.bundle_digest
