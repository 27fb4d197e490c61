"""The hosts sandbox: every instance moto launches is a booted Debian 12 machine here.

DESIGN §5b. The sandbox's server process owns moto in-process (`backend`), so
it keeps moto's records and the machines in step. Each part is one idea:

- `system`: root, Linux and the tools it needs (and the apt packages that bring them);
- `baseimage`: the Debian 12 root filesystem, built once with debootstrap and cached;
- `records`: everything made is written down as it is made, so `sandbox stop`
  removes it even after the sandbox was killed;
- `network`: a network namespace and a routed veth per machine, security groups
  enforced with iptables between machines, no route anywhere else;
- `machine`: a systemd-nspawn container booted from a copy of its image's root;
- `imds`: IMDSv2 at 169.254.169.254; `ssm`: Run Command executed for real;
- `proxy`: apt-cacher-ng, the machines' only way to the package registries;
- `backend`: the glue to moto's models.

Nothing here runs Salt or anything else on this computer: commands run only
inside the machines (nsenter into their namespaces).
"""
