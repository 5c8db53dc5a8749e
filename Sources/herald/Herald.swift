import ArgumentParser

@main
struct Herald: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "herald",
        abstract: "Herald: secure business messaging server.",
        discussion: "Run `herald serve` to start the server; `herald apps create --name NAME` to create an app and its API key.",
        subcommands: [Serve.self, Apps.self]
    )
}
