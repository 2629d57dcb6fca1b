{ config, lib, ... }:
{
  options.clan.vpn = {
    port = lib.mkOption {
      type = lib.types.port;
      default = 51820;
    };
    address = lib.mkOption {
      type = lib.types.str;
      default = "10.0.0.${toString config.clan.vpn.port}";
    };
  };

  config.clan.core.facts.services.vpn = {
    secret."vpn.key" = { };
    generator.script = "wg genkey > $secrets/vpn.key";
  };
}
