//! Builds the published schema set in memory: JSON Schema (draft-07) and TypeScript, one file per
//! type, v2 types under `v2/`. Pure: the `gen_schema` binary writes the files and the freshness
//! test compares them with the checked-in `schema/` tree.

use std::any::TypeId;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use schemars::generate::{Contract, SchemaSettings};
use ts_rs::TS;

use crate::jsonrpc::{
    JSONRPCError, JSONRPCErrorError, JSONRPCMessage, JSONRPCNotification, JSONRPCRequest,
    JSONRPCResponse, RequestId,
};
use crate::methods::{
    ClientNotification, ClientRequest, ServerNotification, ServerNotificationEnvelope,
    ServerRequest,
};
use crate::requests::{Method, MethodVisitor, NoParams, for_each_client_request};
use crate::v1::*;
use crate::v2::*;

/// Which way a type travels, which decides how optional keys appear in its JSON Schema.
#[derive(Clone, Copy)]
enum Direction {
    /// Read by the server: a key with a default or an `Option` type may be omitted.
    ToServer,
    /// Written by the server: every key it always emits is required (and nullable if `Option`).
    ToClient,
}

/// One generated file: a path relative to `schema/` (always `/`-separated) and its contents.
pub type GeneratedFile = (String, String);

/// Every schema file, sorted by path. Contents use LF and end with a newline.
pub fn generate() -> Vec<GeneratedFile> {
    use Direction::{ToClient, ToServer};
    let mut files = Vec::new();
    // Envelopes and method unions.
    add::<RequestId>(&mut files, ToServer);
    add::<JSONRPCRequest>(&mut files, ToServer);
    add::<JSONRPCNotification>(&mut files, ToServer);
    add::<JSONRPCResponse>(&mut files, ToClient);
    add::<JSONRPCError>(&mut files, ToClient);
    add::<JSONRPCErrorError>(&mut files, ToClient);
    add::<JSONRPCMessage>(&mut files, ToServer);
    add::<ClientRequest>(&mut files, ToServer);
    add::<ClientNotification>(&mut files, ToServer);
    add::<ServerNotification>(&mut files, ToClient);
    add::<ServerNotificationEnvelope>(&mut files, ToClient);
    add::<ServerRequest>(&mut files, ToClient);
    // Handshake, v1 and v2 types besides the requests' params and results.
    add::<AuthMode>(&mut files, ToClient);
    add::<PlanType>(&mut files, ToClient);
    add::<ClientInfo>(&mut files, ToServer);
    add::<InitializeCapabilities>(&mut files, ToServer);
    add::<AuthStatusChangeNotification>(&mut files, ToClient);
    add::<LoginChatGptCompleteNotification>(&mut files, ToClient);
    add::<Account>(&mut files, ToClient);
    add::<LoginAppBrand>(&mut files, ToServer);
    add::<CancelLoginAccountStatus>(&mut files, ToClient);
    add::<AccountUpdatedNotification>(&mut files, ToClient);
    add::<AccountLoginCompletedNotification>(&mut files, ToClient);
    add::<AccountUpdateReason>(&mut files, ToClient);
    add::<DesktopOnboardingEntrypoint>(&mut files, ToClient);
    add::<WorkspaceRouting>(&mut files, ToClient);
    add::<AccountRoutingOverride>(&mut files, ToClient);
    add::<ChatgptAuthTokensRefreshParams>(&mut files, ToClient);
    add::<ChatgptAuthTokensRefreshReason>(&mut files, ToClient);
    add::<ChatgptAuthTokensRefreshResponse>(&mut files, ToServer);
    add::<RefreshFailure>(&mut files, ToClient);
    add::<RefreshFailureReason>(&mut files, ToClient);
    // Every client request's params and result.
    let mut methods = MethodTypes(&mut files);
    for_each_client_request(&mut methods);
    add_indexes(&mut files);
    files.sort();
    files
}

/// Adds the params (unless it is [`NoParams`]) and result type of each method it visits.
struct MethodTypes<'a>(&'a mut Vec<GeneratedFile>);

impl MethodVisitor for MethodTypes<'_> {
    fn visit<M: Method>(&mut self) {
        if TypeId::of::<M::Params>() != TypeId::of::<NoParams>() {
            add::<M::Params>(self.0, Direction::ToServer);
        }
        add::<M::Result>(self.0, Direction::ToClient);
    }
}

/// The TypeScript settings: 64-bit integers are plain `number` (ids are `string | number`).
fn ts_config() -> ts_rs::Config {
    ts_rs::Config::new().with_large_int("number")
}

/// Adds `json/<dir>/<Type>.json` and `typescript/<dir>/<Type>.ts`, where `<dir>` is the type's
/// ts-rs export directory (`v2/` for v2 types), so relative TypeScript imports stay correct.
fn add<T: JsonSchema + TS + 'static>(files: &mut Vec<GeneratedFile>, direction: Direction) {
    let cfg = ts_config();
    let ts_path =
        T::output_path().unwrap_or_else(|| PathBuf::from(format!("{}.ts", T::ident(&cfg))));
    let dir = ts_path.parent().map(slash_path).unwrap_or_default();
    let name = T::ident(&cfg);
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };

    let contract = match direction {
        Direction::ToServer => Contract::Deserialize,
        Direction::ToClient => Contract::Serialize,
    };
    let mut settings = SchemaSettings::draft07();
    settings.contract = contract;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    files.push((
        format!("json/{prefix}{name}.json"),
        format!("{:#}\n", header_first(schema.to_value())),
    ));

    // `export_to_string` only fails for types without an export path, which derived types have.
    let ts = T::export_to_string(&cfg)
        .unwrap_or_else(|err| format!("// ts-rs could not export {name}: {err}\n"));
    files.push((format!("typescript/{prefix}{name}.ts"), ts));
}

/// Adds an `index.ts` per TypeScript directory re-exporting its types; the root one also
/// re-exports each subdirectory as a namespace (`export * as v2 from "./v2";`).
fn add_indexes(files: &mut Vec<GeneratedFile>) {
    let mut dirs: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (path, _) in files.iter() {
        if let Some(rest) = path.strip_prefix("typescript/") {
            let (dir, file) = rest.rsplit_once('/').unwrap_or(("", rest));
            let ty = file.trim_end_matches(".ts").to_string();
            dirs.entry(dir.to_string()).or_default().push(ty);
        }
    }
    let subdirs: Vec<String> = dirs.keys().filter(|d| !d.is_empty()).cloned().collect();
    for (dir, mut types) in dirs {
        types.sort();
        let mut index = String::from("// GENERATED CODE! DO NOT MODIFY BY HAND!\n\n");
        for ty in types {
            index.push_str(&format!("export type {{ {ty} }} from \"./{ty}\";\n"));
        }
        if dir.is_empty() {
            for sub in &subdirs {
                index.push_str(&format!("export * as {sub} from \"./{sub}\";\n"));
            }
        }
        let path = if dir.is_empty() {
            "typescript/index.ts".to_string()
        } else {
            format!("typescript/{dir}/index.ts")
        };
        files.push((path, index));
    }
}

/// Moves `$schema` and `title` to the top of a root schema, where readers look for them.
fn header_first(schema: serde_json::Value) -> serde_json::Value {
    match schema {
        serde_json::Value::Object(mut body) => {
            let mut out = serde_json::Map::new();
            for key in ["$schema", "title"] {
                if let Some(value) = body.shift_remove(key) {
                    out.insert(key.to_string(), value);
                }
            }
            out.extend(body);
            serde_json::Value::Object(out)
        }
        other => other,
    }
}

/// A relative path with `/` separators on every platform.
fn slash_path(path: &Path) -> String {
    path.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}
