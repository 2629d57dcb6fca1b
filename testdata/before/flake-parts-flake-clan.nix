{ ... }:
{
  flake.clan = {
    meta.name = "homelab";
    inventory.services.user-password.alice = {
      roles.default.machines = [ "desktop" "laptop" ];
      config.user = "alice";
    };
  };
  flake.clan.inventory.services.root-password.default = {
    roles.default.tags = [ "all" ];
  };
}
