{
  inputs.clan-core.url = "https://git.clan.lol/clan/clan-core/archive/main.tar.gz";
  outputs =
    { self, clan-core, ... }:
    clan-core.lib.clan {
      inherit self;
      imports = [ ./clan.nix ];
    };
}
