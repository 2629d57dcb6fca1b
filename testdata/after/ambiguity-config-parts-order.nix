# Both parts give `allowedKeys`; rewritten in place they would read
# `roles.default.settings.allowedKeys = { … };` and then
# `roles.default.settings = { allowedKeys.bob = …; };`, which Nix rejects
# (a set literal after a definition of one of its keys). Legacy merged them;
# merge them by hand into one definition.
{
  inventory.machines.server = { };
  inventory.services.admin.default = {
    roles.default.machines = [ "server" ];
    roles.default.config.allowedKeys = { alice = "ssh-ed25519 AAAA alice"; };
    config = {
      allowedKeys.bob = "ssh-ed25519 BBBB bob";
    };
  };
}
