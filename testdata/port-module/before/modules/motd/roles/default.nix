{ config, lib, ... }:
with lib;
{
  options.clan.motd = {
    lines = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "Lines of the message, from every instance.";
    };
    banner = mkOption {
      type = types.nullOr types.str;
      default = null;
    };
  };
  config = mkIf (config.clan.motd.lines != [ ]) {
    users.motd = concatStringsSep "\n" config.clan.motd.lines;
  };
}
