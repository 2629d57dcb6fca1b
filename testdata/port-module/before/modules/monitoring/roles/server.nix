{ config, lib, ... }:
let
  # Every agent of the instances this machine serves.
  instances = config.clan.inventory.services.monitoring or { };
  agents = lib.unique (
    lib.concatMap (instance: instance.roles.agent.machines) (lib.attrValues instances)
  );
in
{
  imports = [ ../shared.nix ];

  options.clan.monitoring = {
    retention = lib.mkOption {
      type = lib.types.str;
      default = "7d";
      description = "How long the server keeps metrics.";
    };
  };

  config.environment.etc."monitoring/targets".text = lib.concatStringsSep "\n" agents;
}
