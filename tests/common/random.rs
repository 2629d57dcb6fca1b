//! Random legacy inventories, the same on every run: the tests that hold the
//! planner, the verifier and the real clan-core to agreeing on them.

/// A deterministic generator (64-bit LCG): the same cases on every run.
pub struct Cases(pub u64);

impl Cases {
    pub fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.next(100) < percent
    }

    pub fn some<'a>(&mut self, items: &[&'a str], at_least: usize) -> Vec<&'a str> {
        let count = at_least + self.next(items.len() + 1 - at_least);
        let mut picked: Vec<&str> = Vec::new();
        while picked.len() < count {
            let item = items[self.next(items.len())];
            if !picked.contains(&item) {
                picked.push(item);
            }
        }
        picked
    }
}

/// A module for random instances: its name, roles, and settings with a value.
type RandomModule = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

const RANDOM_MODULES: [RandomModule; 5] = [
    (
        "sshd",
        &["server", "client"],
        &[
            ("certificate.searchDomains", "[ \"a.example\" ]"),
            ("certificate", "{ searchDomains = [ \"b.example\" ]; }"),
            ("hostKeys.rsa.enable", "true"),
        ],
    ),
    (
        "borgbackup",
        &["client", "server"],
        &[
            ("directory", "\"/srv/borg\""),
            ("destinations.x.repo", "\"u@h:r\""),
            ("destinations", "{ y.repo = \"v@h:r\"; }"),
        ],
    ),
    (
        "zerotier",
        &["controller", "moon", "peer"],
        &[
            ("networkIps", "[ \"10.0.0.1\" ]"),
            ("moon.stableEndpoints", "[ \"1.2.3.4\" ]"),
            ("moon", "{ stableEndpoints = [ \"5.6.7.8\" ]; }"),
        ],
    ),
    (
        "admin",
        &["default"],
        &[
            ("allowedKeys", "{ a = \"ssh-ed25519 AAAA\"; }"),
            ("allowedKeys.b", "\"ssh-ed25519 BBBB\""),
        ],
    ),
    ("my-custom", &["default"], &[("x", "1")]),
];

/// Config lines: `config.<k> = v;` one per key, or one `config = { … };` set.
fn random_config(cases: &mut Cases, keys: &[(&str, &str)]) -> Vec<String> {
    let mut chosen: Vec<(&str, &str)> = Vec::new();
    for _ in 0..=cases.next(2) {
        let key = keys[cases.next(keys.len())];
        if !chosen.contains(&key) {
            chosen.push(key);
        }
    }
    if cases.chance(50) {
        let mut lines = vec!["config = {".to_owned()];
        lines.extend(chosen.iter().map(|(k, v)| format!("  {k} = {v};")));
        lines.push("};".to_owned());
        lines
    } else {
        chosen
            .iter()
            .map(|(k, v)| format!("config.{k} = {v};"))
            .collect()
    }
}

/// A `services` set of one to three legacy instances with random members
/// (lists, tags, `all`, an `inventory.tags` list) and config at instance, role
/// and machine level, written as dotted paths or nested bodies, in a clan of
/// four tagged machines.
pub fn random_inventory(cases: &mut Cases) -> String {
    let machines = ["m0", "m1", "m2", "m3"];
    let quoted = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut lines = vec!["{".to_owned(), "  inventory.machines = {".to_owned()];
    for machine in machines {
        let tags = cases.some(&["web", "db"], 0);
        lines.push(format!(
            "    {machine} = {{ tags = [ {} ]; }};",
            quoted(&tags)
        ));
    }
    lines.push("  };".to_owned());
    if cases.chance(30) {
        let listed = cases.some(&machines, 1);
        lines.push(format!("  inventory.tags.ops = [ {} ];", quoted(&listed)));
    }
    lines.push("  inventory.services = {".to_owned());
    for n in 0..=cases.next(3) {
        let (service, roles, keys) = RANDOM_MODULES[cases.next(RANDOM_MODULES.len())];
        let mut body: Vec<String> = Vec::new();
        for role in roles {
            if !cases.chance(85) {
                continue;
            }
            let mut role_lines: Vec<String> = Vec::new();
            if cases.chance(60) {
                let listed = cases.some(&machines, 1);
                role_lines.push(format!("machines = [ {} ];", quoted(&listed)));
            }
            if cases.chance(50) {
                let tags = cases.some(&["web", "db", "all", "ops"], 1);
                role_lines.push(format!("tags = [ {} ];", quoted(&tags)));
            }
            if cases.chance(35) {
                role_lines.extend(random_config(cases, keys));
            }
            if cases.chance(50) {
                body.push(format!("roles.{role} = {{"));
                body.extend(role_lines.iter().map(|l| format!("  {l}")));
                body.push("};".to_owned());
            } else {
                let mut open = false;
                for line in role_lines {
                    if open || line.starts_with("  ") || line == "};" {
                        open = line != "};";
                        body.push(line);
                    } else {
                        open = line.ends_with('{');
                        body.push(format!("roles.{role}.{line}"));
                    }
                }
            }
        }
        if cases.chance(35) {
            body.extend(random_config(cases, keys));
        }
        if cases.chance(35) {
            let machine = machines[cases.next(machines.len())];
            let config = random_config(cases, keys);
            if cases.chance(50) {
                body.push(format!("machines.{machine} = {{"));
                body.extend(config.iter().map(|l| format!("  {l}")));
                body.push("};".to_owned());
            } else {
                for line in config {
                    if line.starts_with("config") {
                        body.push(format!("machines.{machine}.{line}"));
                    } else {
                        body.push(line);
                    }
                }
            }
        }
        lines.push(format!("    {service}.i{n} = {{"));
        lines.extend(body.iter().map(|l| format!("      {l}")));
        lines.push("    };".to_owned());
        if cases.chance(30) {
            lines.push(String::new());
        }
    }
    lines.push("  };".to_owned());
    lines.push("}".to_owned());
    lines.join("\n") + "\n"
}

/// An `inventory.json` in the clan CLI's layout (`json.dump` with an indent of
/// 2) with one to three legacy instances, drawn like [`random_inventory`].
pub fn random_inventory_json(cases: &mut Cases) -> String {
    use serde_json::{Map, Value, json};
    let machines = ["m0", "m1", "m2", "m3"];
    let names =
        |list: Vec<&str>| Value::from(list.into_iter().map(Value::from).collect::<Vec<_>>());
    let mut inventory_machines = Map::new();
    for machine in machines {
        let tags = cases.some(&["web", "db"], 0);
        inventory_machines.insert(
            machine.to_owned(),
            json!({ "name": machine, "tags": names(tags) }),
        );
    }
    let config = |cases: &mut Cases, keys: &[(&str, &str)]| {
        let mut config = Map::new();
        for _ in 0..=cases.next(2) {
            let (key, _) = keys[cases.next(keys.len())];
            let value = match key {
                "certificate.searchDomains" | "certificate" => {
                    json!({ "searchDomains": ["a.example"] })
                }
                "hostKeys.rsa.enable" => json!({ "rsa": { "enable": true } }),
                "directory" => json!("/srv/borg"),
                "destinations.x.repo" | "destinations" => json!({ "x": { "repo": "u@h:r" } }),
                "networkIps" => json!(["10.0.0.1"]),
                "moon.stableEndpoints" | "moon" => json!({ "stableEndpoints": ["1.2.3.4"] }),
                "allowedKeys" | "allowedKeys.b" => json!({ "a": "ssh-ed25519 AAAA" }),
                _ => json!(1),
            };
            let top = key.split('.').next().unwrap_or(key).to_owned();
            config.insert(top, value);
        }
        Value::Object(config)
    };
    let mut services: Map<String, Value> = Map::new();
    for n in 0..=cases.next(3) {
        let (service, roles, keys) = RANDOM_MODULES[cases.next(RANDOM_MODULES.len())];
        let mut instance = Map::new();
        let mut role_map = Map::new();
        for role in roles {
            if !cases.chance(85) {
                continue;
            }
            let mut body = Map::new();
            if cases.chance(60) {
                body.insert("machines".into(), names(cases.some(&machines, 1)));
            }
            if cases.chance(50) {
                body.insert("tags".into(), names(cases.some(&["web", "db", "all"], 1)));
            }
            if cases.chance(35) {
                body.insert("config".into(), config(cases, keys));
            }
            role_map.insert((*role).to_owned(), Value::Object(body));
        }
        instance.insert("roles".into(), Value::Object(role_map));
        if cases.chance(35) {
            instance.insert("config".into(), config(cases, keys));
        }
        if cases.chance(35) {
            let machine = machines[cases.next(machines.len())];
            instance.insert(
                "machines".into(),
                json!({ machine: { "config": config(cases, keys) } }),
            );
        }
        let entry = services
            .entry(service.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(instances) = entry {
            instances.insert(format!("i{n}"), Value::Object(instance));
        }
    }
    let document = json!({ "machines": inventory_machines, "services": services });
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}
