{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";

  outputs =
    { self, clan-core, ... }:
    let
      clan = clan-core.lib.clan {
        inherit self;
        inventory.machines.server = { };
        inventory.instances.sshd-default = {
          module.name = "sshd";
          roles.server.machines.server = { };
        };
      };
    in
    {
      inherit (clan.config) nixosConfigurations clanInternals;
      # The test clans below use this flake's own copy of a service.
      clan.modules."@clan/sshd" = ./services/sshd.nix;
    };
}
