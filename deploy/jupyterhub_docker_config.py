# JupyterHub for a class on one machine, each student's server and desktops in their own Docker container
# (DockerSpawner, PyPI `dockerspawner`) with CPU, memory and pid limits. Everything else (who logs in, the
# teacher's role, culling, loopback addresses) is deploy/jupyterhub_config.py, loaded first.
#
#   sudo python scripts/hub_setup.py --docker-image    # prints the image's tag: jupyter-desktop-singleuser:<hash>
#   sudo JD_HUB_SINGLEUSER_IMAGE=jupyter-desktop-singleuser:<hash> jupyterhub -f deploy/jupyterhub_docker_config.py
#
# The containers use the host's network, each server on 127.0.0.1 and a port of its own (so no bridge network,
# no published port, nothing off loopback); the students' homes are Docker volumes (jupyterhub-user-<name>).
# The container runs as its image's user (jovyan, uid 1000), not as the student's unix uid.

import os

from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port

c = get_config()  # noqa: F821 (traitlets provides it)
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "jupyterhub_config.py"))  # noqa: F821

env = os.environ.get


class LoopbackDockerSpawner(DockerSpawner):
    """--network host: each server listens on 127.0.0.1 at a random port (DockerSpawner's docs say to override
    get_ip_and_port for host networking)."""

    async def start(self):
        self.port = random_port()
        return await super().start()

    async def get_ip_and_port(self):
        return "127.0.0.1", self.port


c.JupyterHub.spawner_class = LoopbackDockerSpawner
c.DockerSpawner.image = env("JD_HUB_SINGLEUSER_IMAGE", "jupyter-desktop-singleuser:latest")
c.DockerSpawner.pull_policy = "never"  # built here, from deploy/singleuser/
c.DockerSpawner.network_name = "host"
c.DockerSpawner.use_internal_ip = True  # no port bindings: the server is on the host's loopback already
c.DockerSpawner.ip = "127.0.0.1"
c.DockerSpawner.remove = True  # a stopped server's container goes; the home volume stays
c.DockerSpawner.notebook_dir = "/home/jovyan"
c.DockerSpawner.volumes = {"jupyterhub-user-{username}": "/home/jovyan"}
c.DockerSpawner.cmd = ["jupyterhub-singleuser"]
# the local users' settings must not leak in: the image has its own PATH and course config (/etc/jupyter)
c.DockerSpawner.environment = {"JUPYTERHUB_ACTIVITY_INTERVAL": c.Spawner.environment["JUPYTERHUB_ACTIVITY_INTERVAL"]}
c.DockerSpawner.env_keep = []

# Per student: the server, its kernels and its desktops share these.
c.DockerSpawner.mem_limit = env("JD_HUB_MEM_LIMIT", "2G")
c.DockerSpawner.cpu_limit = float(env("JD_HUB_CPU_LIMIT", "1.0"))
c.DockerSpawner.extra_host_config = {
    "pids_limit": int(env("JD_HUB_PIDS_LIMIT", "512")),
    "shm_size": "1g",  # Docker's 64 MB /dev/shm breaks browsers
    "init": False,  # the image's tini
}
