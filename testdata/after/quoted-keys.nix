{
  "inventory".instances = {
    user-password-bob = {
      module.name = "users";
      roles.default.machines = { bobs-pc = { }; };
      roles.default.settings.user = "bob";
    };
    "garage-s3 storage" = {
      module.name = "garage";
      roles.default.machines = { storage01 = { }; };
    };
  };
}
