{ lib, ... }:
{
  options.clan.monitoring = {
    interval = lib.mkOption {
      type = lib.types.int;
      default = 30;
      description = "Seconds between two scrapes.";
    };
    labels = lib.mkOption {
      type = lib.types.attrsOf lib.types.str;
      default = { };
      description = "Labels attached to every metric of this machine.";
    };
  };
}
