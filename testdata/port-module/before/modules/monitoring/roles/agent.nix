{ config, lib, ... }:
let
  cfg = config.clan.monitoring;
in
{
  imports = [ ../shared.nix ];

  options.clan.monitoring.collectors = lib.mkOption {
    type = lib.types.listOf lib.types.str;
    default = [ "cpu" ];
    description = "Collectors the agent runs.";
  };

  config.environment.etc."monitoring/agent.json".text = builtins.toJSON {
    inherit (cfg) interval labels collectors;
  };
}
