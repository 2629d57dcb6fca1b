# A flake-parts module registering the clan's own services inline.
{ ... }:
{
  clan.modules.hello = {
    roles.default.perInstance = _: {
      nixosModule.environment.etc."hello".text = "hello";
    };
  };
  clan.modules.metrics = {
    _class = "clan.service";
    manifest.name = "metrics";
    roles.agent = { };
  };
  clan.modules.backup = ./modules/backup.nix;
}
