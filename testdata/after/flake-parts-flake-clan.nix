{ ... }:
{
  flake.clan = {
    meta.name = "homelab";
    inventory.instances.user-password-alice = {
      module.name = "users";
      roles.default.machines = { desktop = { }; laptop = { }; };
      roles.default.settings.user = "alice";
    };
  };
  flake.clan.inventory.instances.root-password-default = {
    module.name = "users";
    roles.default.settings.user = "root";
    roles.default.tags = [ "all" ];
  };
}
