# Half-migrated by hand: new instances next to the old services.
{
  inventory.instances = {
    admin = {
      module.name = "admin";
      roles.default.tags.all = { };
    };
    users-root = {
      module.name = "users";
      roles.default.tags = [ "all" ];
      roles.default.settings.user = "root";
    };
  };

  inventory.instances = {
    user-password-rpqt = {
      module.name = "users";
      roles.default.machines = { lenovo = { }; pi = { }; };
      roles.default.settings.user = "rpqt";
    };
  };
}
