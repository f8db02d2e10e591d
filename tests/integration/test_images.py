"""Images over REST: list, inspect, pull from the loopback registry, remove."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import docker
import httpx
import pytest
from support.daemon import BUSYBOX, REGISTRY, SLEEPER, expect_error, unique

MANIFEST_TYPES = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json"


def unique_image(engine: docker.DockerClient, repository: str, tag: str) -> str:
    """A new image with a layer of its own (random bytes), so a pull of it must transfer."""
    maker = engine.containers.run(
        BUSYBOX, ["sh", "-c", "head -c 300000 /dev/urandom > /payload"], detach=True, name=unique("imgmaker")
    )
    try:
        assert maker.wait(timeout=30)["StatusCode"] == 0
        return maker.commit(repository=repository, tag=tag).id
    finally:
        maker.remove(force=True)


def gone(engine: docker.DockerClient, ref: str) -> bool:
    try:
        engine.images.get(ref)
    except docker.errors.ImageNotFound:
        return True
    return False


def forget_in_registry(repository: str, tag: str) -> None:
    """Delete the pushed manifest, so the registry keeps nothing of the test."""
    path = repository.removeprefix(f"{REGISTRY}/")
    head = httpx.head(f"http://{REGISTRY}/v2/{path}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES})
    digest = head.headers.get("Docker-Content-Digest")
    if head.status_code == 200 and digest:
        httpx.delete(f"http://{REGISTRY}/v2/{path}/manifests/{digest}")


@pytest.fixture
def pushed(engine: docker.DockerClient) -> Iterator[str]:
    """A reference that exists only in the loopback registry, not on the engine."""
    repository, tag = f"{REGISTRY}/popvim-test/pull-{uuid.uuid4().hex[:8]}", "v1"
    ref = f"{repository}:{tag}"
    unique_image(engine, repository, tag)
    for message in engine.api.push(repository, tag=tag, stream=True, decode=True):
        assert "error" not in message, message
    engine.images.remove(ref)
    assert gone(engine, ref)
    yield ref
    if not gone(engine, ref):
        engine.images.remove(ref, force=True)
    forget_in_registry(repository, tag)


@pytest.fixture
def local_image(engine: docker.DockerClient) -> Iterator[tuple[str, str]]:
    """(tag, id) of an image of the test's own on the engine."""
    ref = f"popvim-test/local-{uuid.uuid4().hex[:8]}:v1"
    image_id = unique_image(engine, ref.split(":")[0], "v1")
    yield ref, image_id
    try:
        engine.images.remove(image_id, force=True)
    except docker.errors.ImageNotFound:
        pass


# --- list and inspect -------------------------------------------------------------
def test_list_contains_the_test_image(api: httpx.Client, engine: docker.DockerClient) -> None:
    r = api.get("/v1/images")
    assert r.status_code == 200
    by_id = {i["id"]: i for i in r.json()}
    busybox = engine.images.get(BUSYBOX)
    assert BUSYBOX in by_id[busybox.id]["tags"]
    assert by_id[busybox.id]["size"] > 0
    assert not any("<none>:<none>" in i["tags"] for i in r.json())


def test_get_by_tag_and_by_id(api: httpx.Client, engine: docker.DockerClient) -> None:
    busybox = engine.images.get(BUSYBOX)
    by_tag = api.get(f"/v1/images/{BUSYBOX}")
    assert by_tag.status_code == 200, by_tag.text
    image = by_tag.json()
    assert image["id"] == busybox.id and BUSYBOX in image["tags"]
    assert image["os"] == "linux" and image["labels"] == busybox.labels
    assert api.get(f"/v1/images/{busybox.id}").json() == image
    assert api.get(f"/v1/images/{busybox.short_id.removeprefix('sha256:')}").json() == image


@pytest.mark.parametrize("ref", ["popvim-test/no-such-image:never", "sha256:" + "0" * 64, "nosuchimage"])
def test_unknown_image_is_404(api: httpx.Client, ref: str) -> None:
    expect_error(api.get(f"/v1/images/{ref}"), 404, code="not_found")
    expect_error(api.delete(f"/v1/images/{ref}"), 404, code="not_found")


# --- pull -------------------------------------------------------------------------
def test_pull_from_the_loopback_registry(api: httpx.Client, engine: docker.DockerClient, pushed: str) -> None:
    r = api.post("/v1/images/pull", json={"image": pushed})
    assert r.status_code == 200, r.text
    image = r.json()
    assert pushed in image["tags"]
    assert image["id"] == engine.images.get(pushed).id
    assert api.get(f"/v1/images/{pushed}").json()["id"] == image["id"]
    assert image["id"] in {i["id"] for i in api.get("/v1/images").json()}


def test_pull_streams_progress_then_the_image(api: httpx.Client, engine: docker.DockerClient, pushed: str) -> None:
    with api.stream("POST", "/v1/images/pull", params={"stream": "true"}, json={"image": pushed}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        messages = [json.loads(line) for line in r.iter_lines() if line.strip()]
    assert len(messages) >= 3, messages
    statuses = [m.get("status", "") for m in messages[:-1]]
    assert any("Download" in s or "Pull complete" in s for s in statuses), statuses
    last = messages[-1]
    assert last["status"] == "pulled" and pushed in last["image"]["tags"]
    assert last["image"]["id"] == engine.images.get(pushed).id


def test_pull_accept_ndjson_streams_too(api: httpx.Client, pushed: str) -> None:
    r = api.post("/v1/images/pull", json={"image": pushed}, headers={"Accept": "application/x-ndjson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    assert json.loads(r.text.strip().splitlines()[-1])["status"] == "pulled"


def test_pull_of_a_missing_repository_is_404_with_the_engine_reason(api: httpx.Client) -> None:
    ref = f"{REGISTRY}/popvim-test/does-not-exist-{uuid.uuid4().hex[:8]}:v1"
    error = expect_error(api.post("/v1/images/pull", json={"image": ref}), 404, code="not_found")
    assert "not found" in error["message"] or "unknown" in error["message"], error
    assert ref in error["message"]
    with api.stream("POST", "/v1/images/pull", params={"stream": "true"}, json={"image": ref}) as r:
        assert r.status_code == 200
        messages = [json.loads(line) for line in r.iter_lines() if line.strip()]
    last = messages[-1]["error"]
    assert last["code"] == "not_found" and ("not found" in last["message"] or "unknown" in last["message"])


@pytest.mark.parametrize("ref", ["UPPER/Case:tag", "bad ref", "busybox:", "busybox:bad tag", "-leading", "a//b"])
def test_pull_of_a_bad_reference_is_400(api: httpx.Client, ref: str) -> None:
    expect_error(api.post("/v1/images/pull", json={"image": ref}), 400, code="invalid_argument")
    expect_error(
        api.post("/v1/images/pull", params={"stream": "true"}, json={"image": ref}), 400, code="invalid_argument"
    )


def test_pull_without_an_image_is_422(api: httpx.Client) -> None:
    expect_error(api.post("/v1/images/pull", json={}), 422, code="invalid_request")
    expect_error(api.post("/v1/images/pull", json={"image": ""}), 422, code="invalid_request")


# --- remove -----------------------------------------------------------------------
def test_delete_by_tag_and_by_id(api: httpx.Client, engine: docker.DockerClient, local_image: tuple[str, str]) -> None:
    ref, image_id = local_image
    alias = f"popvim-test/alias-{uuid.uuid4().hex[:8]}:v2"
    engine.images.get(image_id).tag(alias)
    assert api.delete(f"/v1/images/{alias}").status_code == 204
    assert gone(engine, alias) and not gone(engine, ref)
    expect_error(api.get(f"/v1/images/{alias}"), 404, code="not_found")
    assert api.delete(f"/v1/images/{image_id}").status_code == 204
    assert gone(engine, image_id)
    expect_error(api.get(f"/v1/images/{image_id}"), 404, code="not_found")
    assert not gone(engine, BUSYBOX)


def test_delete_by_repository_without_tag_means_latest(
    api: httpx.Client, engine: docker.DockerClient, local_image: tuple[str, str]
) -> None:
    _ref, image_id = local_image
    repository = f"popvim-test/latest-{uuid.uuid4().hex[:8]}"
    engine.images.get(image_id).tag(repository, "latest")
    assert api.delete(f"/v1/images/{repository}").status_code == 204
    assert gone(engine, f"{repository}:latest") and not gone(engine, image_id)


def test_delete_of_an_image_in_use_needs_force(
    api: httpx.Client, engine: docker.DockerClient, local_image: tuple[str, str]
) -> None:
    ref, image_id = local_image
    r = api.post("/v1/containers/run", json={"image": ref, "name": unique(), "command": SLEEPER})
    assert r.status_code == 201, r.text
    container = r.json()
    error = expect_error(api.delete(f"/v1/images/{ref}"), 409, code="invalid_state")
    assert "in use" in error["message"] and container["engine_id"][:12] in error["message"]
    assert not gone(engine, ref)
    expect_error(api.delete(f"/v1/images/{image_id}"), 409, code="invalid_state")
    assert not gone(engine, image_id)
    assert api.delete(f"/v1/images/{ref}", params={"force": True}).status_code == 204
    assert gone(engine, ref)
    assert api.get(f"/v1/containers/{container['id']}").json()["state"] == "RUNNING"
    assert api.delete(f"/v1/containers/{container['id']}").status_code == 204


def test_delete_of_an_image_a_created_container_needs_is_refused(
    api: httpx.Client, engine: docker.DockerClient, local_image: tuple[str, str]
) -> None:
    """A CREATED container exists only in popvim's records, so the engine cannot protect its image."""
    ref, image_id = local_image
    waiting = api.post("/v1/containers", json={"image": ref, "name": unique(), "command": SLEEPER}).json()
    assert waiting["state"] == "CREATED" and waiting["image_id"] == image_id
    error = expect_error(api.delete(f"/v1/images/{ref}"), 409, code="invalid_state")
    assert waiting["name"] in error["message"]
    expect_error(api.delete(f"/v1/images/{image_id}"), 409, code="invalid_state")
    assert not gone(engine, image_id)
    alias = f"popvim-test/alias-{uuid.uuid4().hex[:8]}:v3"
    engine.images.get(image_id).tag(alias)
    assert api.delete(f"/v1/images/{alias}").status_code == 204  # one of several tags: the image stays
    r = api.post(f"/v1/containers/{waiting['id']}/start")
    assert r.status_code == 200 and r.json()["state"] == "RUNNING", r.text
    assert api.delete(f"/v1/containers/{waiting['id']}").status_code == 204
    assert api.delete(f"/v1/images/{ref}").status_code == 204 and gone(engine, image_id)
