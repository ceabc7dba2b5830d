# Las palabras del messenger, en español.

## The page and the bubble
chat-with = Chatea con { $team }
page-description = Pregunta lo que quieras a { $team }: te responde una persona o nuestro asistente.
open-chat = Abrir el chat
open-chat-unread = Abrir el chat ({ $count } sin leer)
close-chat = Cerrar el chat

## The header
team-online = El equipo está en línea
away-now = Ahora no estamos disponibles
reply-time-minutes = Suele responder en unos minutos
reply-time-hour = Suele responder en menos de una hora
reply-time-hours = Suele responder en unas horas
reply-time-day = Suele responder en menos de un día
download-conversation = Descargar esta conversación
back-to-conversation = Volver a la conversación
your-conversations = Tus conversaciones
new-conversation = Nueva conversación
status-resolved = Resuelta
unread-count = { $count } sin leer

## The texts admins may change, while they are the defaults
greeting-default = ¡Hola!
intro-default = Pregúntanos lo que quieras sobre café, cómo prepararlo o tu pedido: estamos aquí para ayudarte.
away-default = Ahora no estamos. Déjanos un mensaje y te responderemos aquí cuando volvamos.
away-plain = Ahora no estamos. Déjanos un mensaje y te responderemos cuando volvamos.

## The assistant
assistant-answering = Estás hablando con nuestro asistente de IA.
talk-to-person = Hablar con una persona
assistant-name = Asistente
ai-badge = IA
assistant-writing = escribiendo…
sources = Fuentes
did-that-help = ¿Te ha servido?
helped-yes = Sí, gracias
helped-no = No, quiero hablar con una persona
helped-said-yes = ¡Nos alegra que te haya servido!
helped-said-no = Gracias por decírnoslo: una persona del equipo seguirá contigo.
assistant-fallback = Alguien del equipo te responderá aquí pronto.
assistant-handed-over = He pedido al equipo que se una. Alguien te responderá aquí pronto.
assistant-do-not-know = No he encontrado nada sobre eso en nuestros artículos de ayuda, así que prefiero no adivinar. Alguien del equipo puede responderte: elige «Hablar con una persona» abajo.

## A resolved conversation and its rating
resolved-reopen = Esta conversación se ha resuelto. Escribe abajo para reabrirla o
start-new = empieza una conversación nueva
how-did-we-do = ¿Qué tal lo hemos hecho?
rating-1 = Fatal
rating-2 = Mal
rating-3 = Normal
rating-4 = Bien
rating-5 = Genial
rated = Has valorado esta conversación: { $rating }. ¡Gracias!
rating-comment = ¿Algo más que añadir? (opcional)

## The visitor's name and email
chatting-as = Hablando como { $who } · cambiar
add-profile = Deja tu nombre y tu correo para que podamos responderte
name = Nombre
email = Correo electrónico

## Buttons
send = Enviar
save = Guardar
cancel = Cancelar
delete = Eliminar
retry = Reintentar
dismiss = Cerrar aviso

## The composer
message = Mensaje
write-message = Escribe un mensaje…
attach-files = Adjuntar archivos
attach-files-hint = Adjuntar archivos (o pégalos o arrástralos aquí)
insert-emoji = Insertar emoji
emoji = Emoji
insert-this = Insertar { $emoji }
characters-left = { $count ->
    [one] Queda { $count } carácter
   *[other] Quedan { $count } caracteres
}

## The connection
offline = Estás sin conexión. Lo que escribas se enviará cuando vuelvas a estar en línea.
reconnecting-banner = Reconectando… Lo que escribas se enviará en cuanto haya conexión.
not-connected = Sin conexión
connecting = Conectando…
online = En línea
reconnecting = Reconectando…

## Messages
messages = Mensajes
beginning = Inicio de la conversación
load-earlier = Cargar mensajes anteriores
show-newer = Mostrar mensajes más recientes
new-messages = Mensajes nuevos ↓
typing-one = { $name } está escribiendo…
typing-many = { $names } y { $last } están escribiendo…
seen = Visto
delivered = Entregado
sent = Enviado
message-deleted = Este mensaje se eliminó
edited = (editado)
message-actions = Acciones del mensaje
react = Reaccionar
react-with = Reaccionar con { $emoji }
pick-reaction = Elige una reacción
edit = Editar
edit-message = Editar el mensaje
confirm-delete = ¿Eliminar este mensaje para todos?
sending = Enviando…
not-sent = No enviado: { $reason }

## Files
open-picture = Abrir la imagen { $name } a tamaño completo
picture-of = { $at } de { $count }
uploading = Subiendo { $name }
remove-file = Quitar { $name }
close-picture = Cerrar la imagen
previous-picture = Imagen anterior
next-picture = Imagen siguiente

## Searching the help center
search-help = Buscar ayuda
articles-found = { $count ->
    [one] 1 artículo encontrado
   *[other] { $count } artículos encontrados
}
back-to-results = Volver a los resultados
open-in-help-center = Abrir en el centro de ayuda
article-unpublished = Este artículo ya no está publicado.

## Times
just-now = ahora mismo
minutes-ago = hace { $minutes } min
hours-ago = hace { $hours } h
yesterday-at = Ayer { $clock }
date-this-year = { $day } { $month }, { $clock }
date-other-year = { $day } { $month } { $year }, { $clock }
month-1 = ene
month-2 = feb
month-3 = mar
month-4 = abr
month-5 = may
month-6 = jun
month-7 = jul
month-8 = ago
month-9 = sept
month-10 = oct
month-11 = nov
month-12 = dic

## What the server refused, in the visitor's words
refused-empty = Escribe algo primero: el mensaje está vacío.
refused-too-long = Ese mensaje es demasiado largo: divídelo en varios más cortos.
refused-too-fast = Estás enviando mensajes muy rápido. Espera un momento y vuelve a intentarlo.
refused-too-many-conversations = Has empezado muchas conversaciones hace poco. Escribe en una que ya tengas o vuelve a intentarlo dentro de una hora.
refused-storage-full = Ahora mismo el servidor no puede guardar mensajes. Vuelve a intentarlo en unos minutos.
refused-server = Algo ha fallado por nuestra parte. Vuelve a intentarlo.
refused-edit-window = Este mensaje ya no se puede cambiar.
refused-profile = Revisa tu nombre y tu correo: uno de los dos no es válido.
refused-files = Uno de los archivos no se pudo enviar con este mensaje. Vuelve a adjuntarlo.
refused-not-yours = Solo puedes cambiar tus propios mensajes.
refused-forbidden = Esta conversación ya no está disponible.
refused-blocked = Ya no puedes enviar mensajes en este chat.

## More of the messenger
opens-new-tab = (se abre en una pestaña nueva)
download-hint = (descargar)
attached-files = Archivos adjuntos
file-waiting = Esperando a la red…
file-ready = Listo
file-not-accepted = Un archivo no se aceptó: quítalo o vuelve a intentarlo primero.
help-no-match = Ningún artículo coincide. Pregúntanos abajo: te ayudamos encantados.
help-articles = Artículos de ayuda
loading = Cargando…
chat = Chat
file-lost = El archivo se perdió al recargar la página. Vuelve a adjuntarlo.
file-not-started = Tu navegador no pudo empezar a subir el archivo.
refused-unverified = Este chat es para clientes que han iniciado sesión. Inicia sesión en el sitio y vuelve a abrir el chat.
refused-not-possible = Eso no se puede hacer aquí.
file-too-big = Ese archivo es demasiado grande para enviarlo.
file-type-not-allowed = Aquí no se pueden enviar archivos de este tipo.
file-empty = Ese archivo está vacío.
file-picture-too-large = Esa imagen es demasiado grande para enviarla.
file-picture-unreadable = No se pudo leer esa imagen.
file-conversation-full = Esta conversación no admite más archivos.
open-chat-unread-one = Abrir el chat (1 sin leer)
kind-pdf = PDF
kind-zip = ZIP
kind-text = Texto
kind-image = Imagen
kind-document = Documento
kind-spreadsheet = Hoja de cálculo
kind-slides = Presentación
kind-file = Archivo
help-unavailable = Ahora mismo no se puede acceder al centro de ayuda. Pregúntanos abajo.
