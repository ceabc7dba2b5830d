# The messenger's own words, in English. Every other catalogue in this
# folder has exactly these messages (a unit test checks it).

## The page and the bubble
chat-with = Chat with { $team }
page-description = Ask { $team } anything: a person or our assistant answers here.
open-chat = Open chat
open-chat-unread = Open chat ({ $count } unread)
close-chat = Close chat

## The header
team-online = The team is online
away-now = Away right now
reply-time-minutes = Usually replies in a few minutes
reply-time-hour = Usually replies in under an hour
reply-time-hours = Usually replies in a few hours
reply-time-day = Usually replies within a day
download-conversation = Download this conversation
back-to-conversation = Back to the conversation
your-conversations = Your conversations
new-conversation = New conversation
status-resolved = Resolved
unread-count = { $count } unread

## The texts admins may change, while they are the defaults
greeting-default = Hi there
intro-default = Ask us anything about beans, brewing or your order — we're here to help.
away-default = We're away right now. Leave a message and we'll get back to you here when we're back.
away-plain = We're away right now. Leave a message and we'll reply when we're back.

## The assistant
assistant-answering = You're chatting with our AI assistant.
talk-to-person = Talk to a person
assistant-name = Assistant
ai-badge = AI
assistant-writing = writing…
sources = Sources
did-that-help = Did that help?
helped-yes = Yes, thanks
helped-no = No, talk to a person
helped-said-yes = Glad it helped!
helped-said-no = Thanks for saying so: a teammate will take it from here.
assistant-fallback = A teammate will get back to you here soon.
assistant-handed-over = I've asked the team to join. A teammate will get back to you here soon.
assistant-do-not-know = I couldn't find anything about that in our help articles, so I'd rather not guess. A teammate can answer it: choose "Talk to a person" below.

## A resolved conversation and its rating
resolved-reopen = This conversation was resolved. Write below to reopen it, or
start-new = start a new conversation
how-did-we-do = How did we do?
rating-1 = Awful
rating-2 = Bad
rating-3 = OK
rating-4 = Good
rating-5 = Great
rated = You rated this { $rating }. Thank you!
rating-comment = Anything to add? (optional)

## The visitor's name and email
chatting-as = Chatting as { $who } · change
add-profile = Add your name and email so we can follow up
name = Name
email = Email

## Buttons
send = Send
save = Save
cancel = Cancel
delete = Delete
retry = Retry
dismiss = Dismiss

## The composer
message = Message
write-message = Write a message…
attach-files = Attach files
attach-files-hint = Attach files (or paste or drop them here)
insert-emoji = Insert emoji
emoji = Emoji
insert-this = Insert { $emoji }
characters-left = { $count ->
    [one] { $count } character left
   *[other] { $count } characters left
}

## The connection
offline = You're offline. Messages you write will be sent when you're back online.
reconnecting-banner = Reconnecting… Messages you write will be sent once connected.
not-connected = Not connected
connecting = Connecting…
online = Online
reconnecting = Reconnecting…

## Messages
messages = Messages
beginning = Beginning of conversation
load-earlier = Load earlier messages
show-newer = Show newer messages
new-messages = New messages ↓
typing-one = { $name } is typing…
typing-many = { $names } and { $last } are typing…
seen = Seen
delivered = Delivered
sent = Sent
message-deleted = This message was deleted
edited = (edited)
message-actions = Message actions
react = React
react-with = React { $emoji }
pick-reaction = Pick a reaction
edit = Edit
edit-message = Edit message
confirm-delete = Delete this message for everyone?
sending = Sending…
not-sent = Not sent — { $reason }

## Files
open-picture = Open picture { $name } full size
picture-of = { $at } of { $count }
uploading = Uploading { $name }
remove-file = Remove { $name }
close-picture = Close picture
previous-picture = Previous picture
next-picture = Next picture

## Searching the help center
search-help = Search for help
articles-found = { $count ->
    [one] 1 article found
   *[other] { $count } articles found
}
back-to-results = Back to results
open-in-help-center = Open in the help center
article-unpublished = This article is no longer published.

## Times
just-now = just now
minutes-ago = { $minutes } min ago
hours-ago = { $hours } h ago
yesterday-at = Yesterday { $clock }
date-this-year = { $day } { $month }, { $clock }
date-other-year = { $day } { $month } { $year }, { $clock }
month-1 = Jan
month-2 = Feb
month-3 = Mar
month-4 = Apr
month-5 = May
month-6 = Jun
month-7 = Jul
month-8 = Aug
month-9 = Sep
month-10 = Oct
month-11 = Nov
month-12 = Dec

## What the server refused, in the visitor's words
refused-empty = Write something first: the message is empty.
refused-too-long = That message is too long: split it into shorter ones.
refused-too-fast = You're sending messages very fast. Wait a moment, then try again.
refused-too-many-conversations = You've started many conversations recently. Write in one you have, or try again in an hour.
refused-storage-full = The server can't store messages right now. Try again in a few minutes.
refused-server = Something went wrong on our side. Try again.
refused-edit-window = This message can no longer be changed.
refused-profile = Check your name and email: one of them is not valid.
refused-files = One of the files could not be sent with this message. Attach it again.
refused-not-yours = You can only change your own messages.
refused-forbidden = This conversation is no longer available.
refused-blocked = You can no longer send messages in this chat.

## More of the messenger
opens-new-tab = (opens in a new tab)
download-hint = (download)
attached-files = Attached files
file-waiting = Waiting for the network…
file-ready = Ready
file-not-accepted = A file was not accepted: remove it or retry it first.
help-no-match = No articles match. Ask us below: we're happy to help.
help-articles = Help articles
loading = Loading…
chat = Chat
file-lost = The file was lost when the page reloaded. Attach it again.
file-not-started = Your browser could not start the upload.
refused-unverified = This chat is for signed-in customers. Sign in on the site, then open the chat again.
refused-not-possible = That can't be done here.
file-too-big = That file is too big to send.
file-type-not-allowed = Files of this type can't be sent here.
file-empty = That file is empty.
file-picture-too-large = That picture is too large to send.
file-picture-unreadable = That picture could not be read.
file-conversation-full = This conversation can't take more files.
open-chat-unread-one = Open chat (1 unread)
kind-pdf = PDF
kind-zip = ZIP
kind-text = Text
kind-image = Image
kind-document = Document
kind-spreadsheet = Spreadsheet
kind-slides = Slides
kind-file = File
help-unavailable = The help center can't be reached right now. Ask us below instead.
