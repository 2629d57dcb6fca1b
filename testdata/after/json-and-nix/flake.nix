{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  outputs =
    { self, clan-core, ... }:
    let
      clan = clan-core.lib.clan {
        inherit self;
        # `sshd.default` is also defined in inventory.json (legacy merged both).
        inventory.services.sshd.default.roles.server.machines = [ "web" ];
      };
    in
    {
      inherit (clan.config) nixosConfigurations clanInternals;
    };
}
