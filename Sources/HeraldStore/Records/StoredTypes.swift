import GRDB
import HeraldCore
import NIOCore
import PostgresNIO

/// An identifier or enum stored as its raw text and bound as a value in both dialects.
///
/// GRDB and PostgresNIO derive the conversion from `RawRepresentable`; a stored text that is not a
/// valid value fails to decode (an error, never a default). Lists bind as PostgreSQL `text[]`. The types here are also `Codable`, which
/// PostgresNIO would otherwise read as JSON, so this protocol says which of the two applies.
protocol StoredText: RawRepresentable, DatabaseValueConvertible, PostgresCodable, PostgresArrayEncodable, PostgresArrayDecodable
where RawValue == String {}

extension StoredText {
    static var psqlType: PostgresDataType { .text }
    static var psqlArrayType: PostgresDataType { .textArray }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeString(rawValue)
    }

    init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat, context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard let value = Self(rawValue: try String(from: &buffer, type: type, format: format, context: context)) else {
            throw PostgresDecodingError.Code.failure
        }
        self = value
    }
}

extension AppID: StoredText {}
extension UserID: StoredText {}
extension ChannelID: StoredText {}
extension MessageID: StoredText {}
extension DeviceID: StoredText {}
extension NotificationID: StoredText {}
extension InboxItemID: StoredText {}
extension TemplateKey: StoredText {}
extension ClientMessageID: StoredText {}

extension HeraldCore.Channel.Kind: StoredText {}
extension Device.Platform: StoredText {}
extension Device.StepUpState: StoredText {}
extension NotificationCategory: StoredText {}
extension OutgoingNotification.Status: StoredText {}
extension PushCredentialKind: StoredText {}
extension OutboxKind: StoredText {}
extension WebhookDelivery.Outcome: StoredText {}
extension PushDelivery.Subject: StoredText {}
extension PushDelivery.Outcome: StoredText {}
