#!/usr/bin/env python3
"""Deterministic generator of Nix trees for benchmarks.

    scripts/gen-corpus.py OUT_DIR --files 5000 --legacy-share 0.01 [--seed 1] [--embed]

Writes a clan flake.nix at the root, realistic NixOS modules of mixed sizes (a few lines to a few thousand),
and a share of clan files that hold legacy `inventory.services` definitions in
the forms people wrote (nested, dotted, flake-parts). The same arguments always
give the same bytes. With --embed, each legacy file also holds NixOS module code
of mixed size (a machine's configuration inside the clan call, or options next
to the inventory bindings), as real flakes do: inventory is then about a seventh
of the bytes instead of all of them.
"""
import argparse
import os
import random

SERVICES = ["borgbackup", "sshd", "zerotier", "admin", "user-password", "packages", "mycelium"]
OPTIONS = [
    'services.openssh.enable = true;',
    'services.nginx.virtualHosts."{h}.example.org".locations."/".proxyPass = "http://127.0.0.1:{p}";',
    'networking.firewall.allowedTCPPorts = [ {p} 443 ];',
    'users.users.{h} = {{ isNormalUser = true; extraGroups = [ "wheel" ]; }};',
    'environment.systemPackages = with pkgs; [ git vim htop ];',
    'systemd.services.{h}-job = {{ wantedBy = [ "multi-user.target" ]; script = \'\'\n      echo "run {h}" > /tmp/{h}.log\n    \'\'; }};',
    'boot.kernel.sysctl."net.ipv4.ip_forward" = {p};',
    'fileSystems."/srv/{h}" = {{ device = "/dev/disk/by-label/{h}"; fsType = "ext4"; }};',
]

# Module code that computes: selections, applications, interpolation (what most
# lines of real NixOS modules look like). Only the embedded legacy files use these,
# so that the other trees stay as they were.
COMPUTED_OPTIONS = [
    'options.services.{h} = {{ enable = lib.mkEnableOption "{h}"; port = lib.mkOption {{ type = lib.types.port; default = {p}; }}; }};',
    'systemd.services.{h}.serviceConfig.ExecStart = "${{lib.getExe pkgs.hello}} --port ${{toString config.services.{h}.port}}";',
    'services.{h}.enable = lib.mkDefault config.services.openssh.enable;',
    'environment.etc."{h}.conf".text = lib.concatStringsSep "\\n" (map (u: "user ${{u.name}}") (lib.attrValues config.users.users));',
    'security.acme.certs."{h}.example.org" = lib.mkIf config.services.nginx.enable {{ webroot = "/var/lib/acme/{h}"; group = config.services.nginx.group; }};',
]


FLAKE = """{{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  outputs = {{ self, clan-core, ... }}:
    clan-core.lib.clan {{
      inherit self;
      inventory = {{
        machines = {{
{machines}
        }};
      }};
    }};
}}
"""


def nixos_module(rng, lines, options=OPTIONS):
    out = ["{ config, lib, pkgs, ... }:", "let", f"  port = {rng.randint(1000, 9999)};", "in", "{"]
    used = set()
    for i in range(lines):
        opt = rng.choice(options).format(h=f"host{rng.randint(0, 999)}", p=rng.randint(1, 65535))
        key = opt.split(" = ")[0]
        if key in used:  # Nix rejects an attribute defined twice
            opt = OPTIONS[3].format(h=f"user{i}", p=0)
            key = opt.split(" = ")[0]
        used.add(key)
        if rng.random() < 0.1:
            out.append(f"  # option {i}: generated")
        out.append(f"  {opt}")
    out.append("}")
    return "\n".join(out) + "\n"


def legacy_inventory(rng, instances, file_index):
    form = rng.randrange(3)
    body = []
    for i in range(instances):
        svc = rng.choice(SERVICES)
        # Instance names are unique in a clan (all files share the root flake.nix).
        inst = f"f{file_index}i{i}"
        machines = " ".join(f'"m{rng.randint(0, 50)}"' for _ in range(rng.randint(1, 4)))
        if form == 0:
            body.append(f"      {svc}.{inst} = {{\n        roles.default.machines = [ {machines} ];\n        roles.default.config.x{i} = {i};\n      }};")
        elif form == 1:
            body.append(f"  inventory.services.{svc}.{inst}.roles.default.machines = [ {machines} ];")
            body.append(f"  inventory.services.{svc}.{inst}.config.port = {rng.randint(1, 65535)};")
        else:
            body.append(f"    clan.inventory.services.{svc}.{inst} = {{ roles.peer.tags = [ \"all\" ]; }};")
    if form == 0:
        return "{ self, clan-core, ... }:\nclan-core.lib.clan {\n  inherit self;\n  inventory = {\n    services = {\n" + "\n".join(body) + "\n    };\n  };\n}\n"
    if form == 1:
        return "{\n" + "\n".join(body) + "\n}\n"
    return "{ inputs, ... }:\n{\n  imports = [ ];\n" + "\n".join(body) + "\n}\n"


def embedded(rng, inventory):
    """`inventory` (from legacy_inventory) with module options beside it."""
    lines = nixos_module(rng, rng.choice([3, 10, 30, 60, 120]), OPTIONS + COMPUTED_OPTIONS)
    lines = lines.rstrip("\n").split("\n")
    body = "\n".join(lines[5:-1])  # the options, without the header and the last "}"
    if inventory.startswith("{ self, clan-core"):
        machine = "  machines.m0 = { pkgs, ... }: {\n" + body + "\n  };\n"
        return inventory.replace("  inherit self;\n", "  inherit self;\n" + machine, 1)
    return inventory.rstrip("\n")[:-1] + body + "\n}\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--legacy-share", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--embed", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    # Its own sequence, so that --embed leaves the rest of the tree as it is.
    embed_rng = random.Random(args.seed + 1)
    legacy = round(args.files * args.legacy_share)
    os.makedirs(args.out, exist_ok=True)
    # One clan at the root of the tree, as in a monorepo: every file is in it.
    with open(os.path.join(args.out, "flake.nix"), "w") as f:
        machines = "\n".join(f'          m{m}.tags = [ "all" ];' for m in range(51))
        f.write(FLAKE.format(machines=machines))
    for i in range(args.files):
        d = os.path.join(args.out, f"d{i // 100:04d}")
        os.makedirs(d, exist_ok=True)
        if i < legacy:
            text = legacy_inventory(rng, rng.randint(1, 12), i)
            if args.embed:
                text = embedded(embed_rng, text)
        else:
            size = rng.choice([3, 10, 30, 60, 120, 400]) if rng.random() > 0.01 else 3000
            text = nixos_module(rng, size)
        with open(os.path.join(d, f"f{i:06d}.nix"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
