"""Test images made from a base image already here (nothing is pulled): a base container
committed with another default command."""

from __future__ import annotations

import json

import docker
from support.daemon import BUSYBOX


def commit_shell_image(client: docker.DockerClient, tag: str, script: str, base: str = BUSYBOX) -> str:
    """``tag`` (``repo:tag``) is ``base`` whose default command is ``sh -c script``."""
    repository, _, version = tag.partition(":")
    container = client.containers.create(base, command=["true"])
    try:
        container.commit(repository, version or "latest", changes=[f"CMD {json.dumps(['sh', '-c', script])}"])
    finally:
        container.remove(force=True)
    return tag


def shell_image(client: docker.DockerClient, tag: str, script: str, base: str = BUSYBOX) -> str:
    """``commit_shell_image`` unless the engine has ``tag`` already."""
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        commit_shell_image(client, tag, script, base)
    return tag
