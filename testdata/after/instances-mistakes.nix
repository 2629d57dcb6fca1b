# Hand-migrated instances with the mistakes the upstream guide invites.
{
  inventory.machines = {
    web = { };
    db = { };
    laptop = { };
  };
  inventory.instances = {
    sshd-default = {
      module.name = "sshd";
      roles.server.machines = {
        web = { };
        db = { }; # the database host
      };
      roles.server.settings.hostKeys.rsa.enable = true;
    };
    importer-base = {
      module.name = "importer";
      roles.default.tags = [ "all" ];
      # No flake.nix above this file: the clan directory is unknown.
      roles.default.extraModules = [ "modules/base.nix" ];
    };
    zerotier-home = {
      module.name = "zerotier";
      roles.controller.machines.web = { };
      roles.client.machines.laptop = { };
    };
    user-alice = {
      module.name = "user-password";
      roles.default.machines.laptop = { };
      config.user = "alice";
    };
    syncthing-family = {
      module.name = "syncthing";
      roles.introducer.machines.db = { };
    };
  };
}
