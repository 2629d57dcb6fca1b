{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";

  outputs =
    { self, clan-core, ... }:
    let
      clan = clan-core.lib.buildClan {
        directory = self;
        meta.name = "imported";
        inventory = import ./clan-inventory.nix;
      };
    in
    {
      inherit (clan) nixosConfigurations clanInternals;
    };
}
