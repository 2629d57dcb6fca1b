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
  flake.clan.inventory.services.root-password.default = {
    roles.default.tags = [ "all" ];
  };
}
