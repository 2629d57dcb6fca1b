{
  description = "My clan";

  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  inputs.nixpkgs.follows = "clan-core/nixpkgs";

  outputs =
    { self, clan-core, ... }:
    let
      # Usage see: https://docs.clan.lol
      clan = clan-core.lib.buildClan {
        directory = self;
        meta.name = "jons-clan";

        # Prerequisite: boot into the installer
        inventory = {
          machines = {
            jon = { };
            sara = { };
          };
          instances = {
            borgbackup-instance_1 = {
              module = { name = "borgbackup"; input = "clan-core"; };
              roles.server.machines = { jon = { }; };
              roles.client.machines = { sara = { }; };
            };
            admin-default = {
              module = { name = "admin"; input = "clan-core"; };
              roles.default.tags = [ "all" ];
              roles.default.settings.allowedKeys = {
                "jon@laptop" = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJon";
              };
            };
          };
        };

        machines = {
          jon = { imports = [ ./machines/jon/configuration.nix ]; };
          sara = { imports = [ ./machines/sara/configuration.nix ]; };
        };
      };
    in
    {
      inherit (clan) nixosConfigurations clanInternals;
    };
}
