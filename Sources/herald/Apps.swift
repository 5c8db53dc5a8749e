import ArgumentParser
import Foundation
import HeraldCore
import HeraldStore

struct Apps: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage apps (tenants) and their API keys. Works whether or not a server runs on the same data directory.",
        subcommands: [Create.self, List.self, RotateKey.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an app; prints its id and API key (shown once).")

        @Option(name: .long, help: "The app's name, for people.") var name: String
        @OptionGroup var store: StoreOptions
        @Flag(name: .long, help: "Print {\"appId\": ..., \"apiKey\": ...}.") var json = false

        func run() async throws {
            let store = try await store.openStore(creating: true)
            let (app, key) = try await run(store) { store in
                let created = try await store.createApp(name: name)
                try await StoreOptions.audit(store, "app.create", target: created.app.id.rawValue, chain: .app(created.app.id))
                return created
            }
            if json {
                print(try JSONOutput.line(["appId": app.id.rawValue, "apiKey": key.token]))
            } else {
                print("app id:  \(app.id)")
                print("API key: \(key.token)")
                print("The API key is shown only this once; store it safely.")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the apps.")

        @OptionGroup var store: StoreOptions
        @Flag(name: .long, help: "Print a JSON array.") var json = false

        func run() async throws {
            let store = try await store.openStore()
            let apps = try await run(store) { store in
                try await StoreOptions.audit(store, "app.list", target: "apps")
                return try await store.apps()
            }
            if json {
                print(try JSONOutput.line(apps.map { ["appId": $0.id.rawValue, "name": $0.name, "createdAt": WireTime.format($0.createdAt)] }))
            } else {
                for app in apps { print("\(app.id)  \(WireTime.format(app.createdAt))  \(app.name)") }
            }
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key", abstract: "Replace an app's API key; the old key stops working at once.")

        @Option(name: .long, help: "The app's id.") var app: String
        @OptionGroup var store: StoreOptions
        @Flag(name: .long, help: "Print {\"appId\": ..., \"apiKey\": ...}.") var json = false

        func validate() throws {
            guard AppID(rawValue: app) != nil else { throw ValidationError("--app is not an app id.") }
        }

        func run() async throws {
            let store = try await store.openStore()
            let appID = AppID(rawValue: app)!
            let key = try await run(store) { store in
                do {
                    let key = try await store.rotateAPIKey(of: appID)
                    try await StoreOptions.audit(store, "apikey.rotate", target: appID.rawValue, chain: .app(appID))
                    return key
                } catch HeraldError.notFound {
                    FileHandle.standardError.write(Data("error: no app \(appID)\n".utf8))
                    throw ExitCode.failure
                }
            }
            if json {
                print(try JSONOutput.line(["appId": appID.rawValue, "apiKey": key.token]))
            } else {
                print("API key: \(key.token)")
                print("The previous key no longer works.")
            }
        }
    }
}

extension AsyncParsableCommand {
    /// Runs `body` on the store and closes it, also when `body` throws.
    func run<T>(_ store: any Store, _ body: (any Store) async throws -> T) async throws -> T {
        do {
            let result = try await body(store)
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}

enum JSONOutput {
    static func line(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
