"""deploy/z2jh/values.yaml, checked without a cluster (there is no Kubernetes on these machines).

The values go through the same mapping the z2jh chart's hub config applies to the ``singleuser`` keys used here
(``singleuser.image.name:tag`` -> ``KubeSpawner.image``, ``memory.limit`` -> ``mem_limit``, ``extraEnv`` ->
``environment``, ``profileList`` -> ``profile_list``, ``storage.extraVolumes`` -> ``volumes`` ...), into a real
KubeSpawner in its ``_mock`` mode (jupyterhub-kubespawner's own tests do this), which then makes the pod manifest
each profile would get: image, limits, user, environment, default URL, volumes. A value the chart would not map,
a limit that would not reach the pod, or an image that does not fit deploy/singleuser/Dockerfile fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from traitlets.config import Config, PyFileConfigLoader

from .conftest import run_async

ROOT = Path(__file__).resolve().parent.parent
VALUES = ROOT / "deploy" / "z2jh" / "values.yaml"
SINGLEUSER = ROOT / "deploy" / "singleuser"
GiB = 1 << 30  # KubeSpawner reads "2G" as 2 GiB

# singleuser.<key> -> KubeSpawner trait, for the keys values.yaml uses (the chart maps more).
CHART_KEYS = {
    "uid": "uid",
    "fsGid": "fs_gid",
    "cmd": "cmd",
    "defaultUrl": "default_url",
    "memory.limit": "mem_limit",
    "memory.guarantee": "mem_guarantee",
    "cpu.limit": "cpu_limit",
    "cpu.guarantee": "cpu_guarantee",
    "extraEnv": "environment",
    "profileList": "profile_list",
    "storage.extraVolumes": "volumes",
    "storage.extraVolumeMounts": "volume_mounts",
}


def lookup(values: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(values, dict) or part not in values:
            return None
        values = values[part]
    return values


def chart_config(values: dict[str, Any]) -> Config:
    """The KubeSpawner configuration the chart makes of these values."""
    c = Config()
    singleuser = values["singleuser"]
    for key, trait in CHART_KEYS.items():
        value = lookup(singleuser, key)
        if value is not None:
            setattr(c.KubeSpawner, trait, value)
    image = singleuser["image"]
    c.KubeSpawner.image = f"{image['name']}:{image['tag']}" if image.get("tag") else image["name"]
    return c


def unknown_keys(values: dict[str, Any]) -> list[str]:
    """singleuser keys of values.yaml that this test (and so its claims) does not cover."""
    mapped = {key.split(".")[0] for key in CHART_KEYS} | {"image", "storage"}
    storage_ok = {"type", "capacity", "homeMountPath", "extraVolumes", "extraVolumeMounts"}
    out = [k for k in values["singleuser"] if k not in mapped]
    out += [f"storage.{k}" for k in values["singleuser"].get("storage", {}) if k not in storage_ok]
    return out


async def pod_for(values: dict[str, Any], profile: str | None) -> dict[str, Any]:
    from kubespawner import KubeSpawner

    spawner = KubeSpawner(_mock=True, config=chart_config(values))
    if profile is not None:
        spawner.user_options = {"profile": profile}
    await spawner.load_user_options()
    manifest = await spawner.get_pod_manifest()
    from kubernetes_asyncio.client import ApiClient

    return ApiClient().sanitize_for_serialization(manifest)  # the JSON the API server would get


# KubeSpawner reads a kube config even in _mock mode; one that names no reachable cluster (nothing is contacted:
# making a pod manifest needs no API server).
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: nobody, user: {token: none}}]
contexts: [{name: none, context: {cluster: none, user: nobody}}]
current-context: none
"""


@pytest.fixture(autouse=True)
def no_cluster(tmp_path, monkeypatch):
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(path))


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    data = yaml.safe_load(VALUES.read_text())
    assert not unknown_keys(data), f"values.yaml sets keys this test does not check: {unknown_keys(data)}"
    return data


def container(pod: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in pod["spec"]["containers"] if c["name"] == "notebook")


def env(pod: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container(pod).get("env", [])}


@pytest.mark.parametrize(
    "profile, memory, url, desktop_profile",
    [(None, 2 * GiB, "/desktop/", "openbox"), ("desktop", 2 * GiB, "/desktop/", "openbox"),
     ("xfce", 4 * GiB, "/desktop/", "xfce"), ("lab", 2 * GiB, "/lab", "openbox")],
)  # fmt: skip
def test_each_profile_makes_the_pod_it_says(values, profile, memory, url, desktop_profile):
    pod = run_async(pod_for(values, profile), timeout=60)
    notebook = container(pod)
    image = values["singleuser"]["image"]
    assert notebook["image"] == f"{image['name']}:{image['tag']}"
    assert notebook["args"][0] == "jupyterhub-singleuser"
    limits, requests = notebook["resources"]["limits"], notebook["resources"]["requests"]
    assert (limits["memory"], limits["cpu"]) == (memory, 2), limits  # the desktops live in this container
    assert requests["cpu"] == 0.5, requests
    assert pod["spec"]["securityContext"]["fsGroup"] == 1000
    assert notebook["securityContext"]["runAsUser"] == 1000
    variables = env(pod)
    assert variables["JUPYTERHUB_DEFAULT_URL"] == url
    assert variables["JD_PAGES_IDLE_AFTER"] == "300"
    assert variables.get("JD_DEFAULT_PROFILE", "openbox") == desktop_profile
    shm = next(m for m in notebook["volumeMounts"] if m["mountPath"] == "/dev/shm")
    assert next(v for v in pod["spec"]["volumes"] if v["name"] == shm["name"])["emptyDir"]["medium"] == "Memory"


def test_the_pods_environment_sets_the_course_settings(values, monkeypatch):
    """What a profile's environment says, the students' server reads: the same singleuser config file the
    local-users recipe and the Docker image use."""
    pod = run_async(pod_for(values, "xfce"), timeout=60)
    for name, value in env(pod).items():
        if name.startswith("JD_"):
            monkeypatch.setenv(name, value)
    loader = PyFileConfigLoader("jupyter_server_config.py", path=str(SINGLEUSER))
    config = loader.load_config()
    assert config.DesktopExtension.default_profile == "xfce"
    assert config.DesktopExtension.pages_idle_after == 300.0
    assert config.DesktopExtension.allowed_backends == ["local"]  # no Docker socket in a pod


def test_the_image_fits_the_values():
    """values.yaml's uid and command are those of deploy/singleuser/Dockerfile's image."""
    dockerfile = (SINGLEUSER / "Dockerfile").read_text()
    values = yaml.safe_load(VALUES.read_text())["singleuser"]
    assert re.search(rf"useradd\b.*--uid {values['uid']}\b.*\bjovyan\b", dockerfile)
    assert f'CMD ["{values["cmd"]}"]' in dockerfile
    assert "COPY jupyter_server_config.py /etc/jupyter/jupyter_server_config.py" in dockerfile
    assert values["storage"]["homeMountPath"] == "/home/jovyan"


def test_culling_outlasts_the_pages_pause(values):
    """The culler's timeout is longer than the time the list page keeps polling an absent student: an open page
    alone never keeps a server."""
    pause = float(values["singleuser"]["extraEnv"]["JD_PAGES_IDLE_AFTER"])
    assert values["cull"]["enabled"] and values["cull"]["timeout"] > pause


def test_an_unmapped_value_would_be_caught():
    """The guard itself: a singleuser key this test does not map is reported, not silently passed."""
    data = yaml.safe_load(VALUES.read_text())
    data["singleuser"]["networkPolicy"] = {"enabled": True}
    assert unknown_keys(data) == ["networkPolicy"]
