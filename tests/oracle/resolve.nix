# A semantic oracle: evaluates a file that defines a clan inventory (in the legacy
# `inventory.services` or the new `inventory.instances` format, or both) to a
# normal form that does not depend on the format:
#
#   { "<instance name>" = {
#       module = "<clan.service module>";
#       tags = { <role> = [ <tag> ... ]; };
#       machines = { <machine> = { <role> = { settings = { ... }; extraModules = [ ... ]; }; }; };
#     }; }
#
# Legacy instances are named `<service>-<instance>` and their module is mapped
# through clan-migrate's module table (src/inventory/modules.toml). A machine's
# settings are given per role it has: legacy configs all land in one namespace
# (`config` + `machines.<m>.config` + `roles.<r>.config` of each of its roles,
# keys renamed per the table), of which a role sees the keys it declares (`keys`
# in the table); new: `roles.<r>.settings` + `roles.<r>.machines.<m>.settings`.
#
# Usage: nix-instantiate --eval --strict --json tests/oracle/resolve.nix \
#          --arg file /abs/x.nix --argstr clanDir /abs/clan [--arg asInventory true]
# `asInventory`: the file's value is itself an inventory (a file named inventory.nix).
# `userTable`: a clan-migrate.toml whose `[modules.*]` extend the table.
{ file, clanDir, asInventory ? false, userTable ? null }:
let
  inherit (builtins)
    attrNames filter foldl' isAttrs isList isPath
    isString listToAttrs map mapAttrs elem concatMap any length
    head toString hasAttr;
  loaded = import ./load.nix { inherit file asInventory userTable; };
  inherit (loaded) inventory table;
  inherit (loaded.helpers) deepMerge mergeAll normalize unique;
  machines = inventory.machines or { };
  machineTags = m:
    (machines.${m}.tags or [ ])
    ++ filter (t: elem m inventory.tags.${t}) (attrNames (inventory.tags or { }))
    ++ [ "all" ]
    ++ (if (machines.${m}.machineClass or "nixos") == "darwin" then [ "darwin" ] else [ "nixos" ]);
  tagMembers = tags: filter (m: any (t: elem t tags) (machineTags m)) (attrNames machines);
  # Legacy clan resolved a role's tags in order and, on a tag no machine
  # carries, restarted from nothing: the members of the tags before it were
  # dropped (its fold returned [ ] instead of the accumulator).
  legacyTagMembers = foldl' (acc: t:
    let members = tagMembers [ t ]; in
    if members == [ ] then [ ] else acc ++ members) [ ];

  modulePath = x: if isString x then clanDir + "/" + x else if isPath x then toString x else x;

  # Per role: members, settings, per-machine settings, tags, extraModules.
  legacyRoles = inst:
    mapAttrs (r: role: {
      members = unique ((role.machines or [ ]) ++ legacyTagMembers (role.tags or [ ]));
      settings = role.config or { };
      machineSettings = m: (inst.machines.${m}.config or { });
      tags = role.tags or [ ];
      extraModules = map modulePath ((role.extraModules or [ ]) ++ (role.imports or [ ]));
    }) (inst.roles or { });
  # Mistakes clan-migrate corrects are read as what they meant: a list of
  # machines is their names, a role's `config` is its `settings`.
  newRoles = inst:
    mapAttrs (r: role:
      let
        tagNames = if isList (role.tags or [ ]) then role.tags or [ ] else attrNames role.tags;
        machineNames = if isList (role.machines or { }) then role.machines else attrNames (role.machines or { });
      in {
        members = unique (machineNames ++ tagMembers tagNames);
        settings = deepMerge (role.settings or { }) (role.config or { });
        machineSettings = m: if isList (role.machines or { }) then { } else role.machines.${m}.settings or { };
        tags = tagNames;
        extraModules = map modulePath (role.extraModules or [ ]);
      }) (inst.roles or { });

  # What role `r` of module `svc` sees of a legacy config: the keys its interface
  # declares (`keys` in the module table); keys the table does not list count
  # for every role.
  ownedBy = svc: r: attrs:
    let keys = (table.${svc} or { }).keys or { }; in
    if !(isAttrs attrs) then attrs
    else removeAttrs attrs (filter (k: hasAttr k keys && !(elem r keys.${k})) (attrNames attrs));

  # Legacy key renames (`moon.stableEndpoints` -> `stableEndpoints`), for plain paths.
  renamed = svc: attrs:
    let
      renames = (table.${svc} or { }).renames or { };
      getPath = path: v: if path == [ ] then v else if isAttrs v && hasAttr (head path) v then getPath (builtins.tail path) v.${head path} else null;
      dropPath = path: v:
        if length path == 1 then removeAttrs v [ (head path) ]
        else if isAttrs v && hasAttr (head path) v then
          (let rest = dropPath (builtins.tail path) v.${head path}; in
           if rest == { } then removeAttrs v [ (head path) ] else v // { ${head path} = rest; })
        else v;
      setPath = path: value: if path == [ ] then value else { ${head path} = setPath (builtins.tail path) value; };
      apply = v: old:
        let path = builtins.filter isString (builtins.split "[.]" old); value = getPath path v; in
        if value == null || elem "*" path then v
        else deepMerge (dropPath path v) (setPath (filter isString (builtins.split "[.]" renames.${old})) value);
    in
    if isAttrs attrs then foldl' apply attrs (attrNames renames) else attrs;

  # Per member machine and role: the settings that role receives, and its extraModules.
  normalForm = { module, roles, roleSettings }:
    let
      allMembers = unique (concatMap (r: roles.${r}.members) (attrNames roles));
      rolesOf = m: filter (r: elem m roles.${r}.members) (attrNames roles);
    in
    normalize {
      inherit module;
      tags = mapAttrs (_: r: r.tags) roles;
      machines = listToAttrs (map (m: {
        name = m;
        value = listToAttrs (map (r: {
          name = r;
          value = {
            settings = roleSettings m r (rolesOf m);
            extraModules = roles.${r}.extraModules;
          };
        }) (rolesOf m));
      }) allMembers);
    };

  # clan-migrate: ignore[CM002] the oracle evaluates the legacy format
  legacy = concatMap (svc:
    map (instName:
      let
        inst = inventory.services.${svc}.${instName};
        roles = legacyRoles inst;
        info = table.${svc} or { };
      in {
        name = "${svc}-${instName}";
        value = normalForm {
          module = info.new_name or svc;
          inherit roles;
          # Legacy: one `clan.<svc>` namespace per machine (instance + machine +
          # the configs of all its roles); each role reads the keys it declares.
          roleSettings = m: r: allRoles:
            mergeAll [
              (info.set or { })
              (renamed svc (ownedBy svc r (mergeAll ([ (inst.config or { }) (roles.${r}.machineSettings m) ]
                ++ map (r': roles.${r'}.settings) allRoles))))
            ];
        };
      }) (attrNames inventory.services.${svc})) (attrNames (inventory.services or { }));

  new = map (name:
    let
      inst = inventory.instances.${name};
      roles = newRoles inst;
    in {
      inherit name;
      value = normalForm {
        module = let n = inst.module.name or name; in
          if builtins.substring 0 6 n == "@clan/" then builtins.substring 6 (builtins.stringLength n) n else n;
        inherit roles;
        roleSettings = m: r: _: mergeAll [ roles.${r}.settings (roles.${r}.machineSettings m) ];
      };
    }) (attrNames (inventory.instances or { }));
in
listToAttrs (legacy ++ new)
