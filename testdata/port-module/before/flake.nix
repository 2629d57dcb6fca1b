{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";

  outputs =
    { self, clan-core, ... }@inputs:
    let
      # The clan itself is in clan.nix.
      clan = clan-core.lib.clan (
        {
          inherit self;
          specialArgs = { inherit inputs; };
        }
        // import ./clan.nix
      );
    in
    {
      inherit (clan.config) nixosConfigurations clanInternals;
      clan = clan.config;
    };
}
