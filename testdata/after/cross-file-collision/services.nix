{
  inventory.services = {
    # Would become `sshd-default`, which clan.nix already defines.
    sshd.default.roles.client.machines = [ "laptop" ];
    # Would become `packages-tools`, which inventory.json already defines.
    packages.tools.roles.default.machines = [ "laptop" ];
  };
  inventory.instances.borgbackup-main = {
    module = { name = "borgbackup"; input = "clan-core"; };
    roles.client.machines = { laptop = { }; };
    roles.server.machines = { server = { }; };
  };
}
